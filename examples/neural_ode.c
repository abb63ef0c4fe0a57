#include <math.h>
/* neural_ode: a neural ODE dh/dt = tanh(W h + b) integrated by explicit Euler
 * over nt steps of size DT, the state h updated in place (s holds the
 * pre-activations of one step).
 * inputs: W, b, h   outputs: h
 * polyad-sizes: small nt=4 nh=5; medium nt=200 nh=64; large nt=60000 nh=128
 * polyad-init: init_neural_ode
 */
#define DT 0.05

void neural_ode(int nt, int nh, double W[nh][nh], double b[nh], double h[nh])
{
  double s[nh];
#pragma scop
  for (int t = 0; t < nt; t++) {
    for (int j = 0; j < nh; j++) {
      s[j] = b[j];
      for (int k = 0; k < nh; k++)
        s[j] += W[j][k] * h[k];
    }
    for (int j = 0; j < nh; j++)
      h[j] = h[j] + DT * tanh(s[j]);
  }
#pragma endscop
}

/* Weights of both signs scaled by 1/sqrt(nh) (Xavier initialisation): the
 * pre-activations stay of order one, tanh does not saturate. */
void init_neural_ode(int nt, int nh, double W[nh][nh], double b[nh], double h[nh])
{
  for (int j = 0; j < nh; j++) {
    b[j] = (double)(j % 5 - 2) / 10.0;
    h[j] = (double)(j % 7 - 3) / 6.0;
    for (int k = 0; k < nh; k++)
      W[j][k] = (double)((j * 7 + k * 3) % 13 - 6) / (6.0 * sqrt((double)nh));
  }
}

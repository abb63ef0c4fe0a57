#include <math.h>
/* rnn: Elman recurrent layer over nt steps, h[t+1][j] = tanh(sum_k Wh[j][k]*h[t][k] + sum_k Wx[j][k]*x[t][k] + b[j]); row h[0] is the given initial state.
 * inputs: Wh, Wx, b, x, h   outputs: h
 * polyad-sizes: small nt=3 nh=5 nx=4; medium nt=100 nh=128 nx=64
 * polyad-init: init_rnn
 */
void rnn(int nt, int nh, int nx, double Wh[nh][nh], double Wx[nh][nx],
         double b[nh], double x[nt][nx], double h[nt + 1][nh])
{
  double s;
#pragma scop
  for (int t = 0; t < nt; t++)
    for (int j = 0; j < nh; j++) {
      s = b[j];
      for (int k = 0; k < nh; k++)
        s += Wh[j][k] * h[t][k];
      for (int k = 0; k < nx; k++)
        s += Wx[j][k] * x[t][k];
      h[t + 1][j] = tanh(s);
    }
#pragma endscop
}

/* Weights of both signs scaled by 1/sqrt(fan-in) (Xavier initialisation) and
 * inputs in [-1, 1]: pre-activations stay of order one over all steps, so tanh
 * does not saturate. */
void init_rnn(int nt, int nh, int nx, double Wh[nh][nh], double Wx[nh][nx],
              double b[nh], double x[nt][nx], double h[nt + 1][nh])
{
  int t, j, k;
  for (j = 0; j < nh; j++) {
    b[j] = (double)(j % 5 - 2) / 10.0;
    for (k = 0; k < nh; k++)
      Wh[j][k] = (double)((j * 7 + k * 3) % 13 - 6) / (6.0 * sqrt((double)nh));
    for (k = 0; k < nx; k++)
      Wx[j][k] = (double)((j * 5 + k * 2) % 11 - 5) / (5.0 * sqrt((double)nx));
  }
  for (t = 0; t < nt; t++)
    for (k = 0; k < nx; k++)
      x[t][k] = (double)((t * 3 + k * 7) % 9 - 4) / 4.0;
  for (t = 0; t <= nt; t++)
    for (j = 0; j < nh; j++)
      h[t][j] = t == 0 ? (double)(j % 7 - 3) / 6.0 : 0.0;
}

#include <math.h>
/* rnn: Elman recurrent layer over nt steps, h[t+1][j] = tanh(sum_k Wh[j][k]*h[t][k] + sum_k Wx[j][k]*x[t][k] + b[j]); row h[0] is the given initial state.
 * inputs: Wh, Wx, b, x, h   outputs: h
 * polyad-sizes: small nt=3 nh=5 nx=4; medium nt=100 nh=128 nx=64
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

#include <math.h>
/* mlp: one dense layer with tanh activation over a batch, y[b][o] = tanh(sum_i W[o][i]*x[b][i] + bias[o]).
 * inputs: W, bias, x   outputs: y
 * polyad-sizes: small nb=3 ni=7 no=5; medium nb=64 ni=512 no=256
 * polyad-init: init_mlp
 */
void mlp(int nb, int ni, int no, double W[no][ni], double bias[no],
         double x[nb][ni], double y[nb][no])
{
  int b, o, i;
#pragma scop
  for (b = 0; b < nb; b++)
    for (o = 0; o < no; o++) {
      y[b][o] = bias[o];
      for (i = 0; i < ni; i++)
        y[b][o] += W[o][i] * x[b][i];
      y[b][o] = tanh(y[b][o]);
    }
#pragma endscop
}

/* Weights and inputs of both signs, weights scaled by 1/sqrt(ni) as in Xavier
 * initialisation: pre-activations stay of order one, so tanh does not saturate
 * (a saturated tanh has a derivative near 0 that no tool computes accurately). */
void init_mlp(int nb, int ni, int no, double W[no][ni], double bias[no],
              double x[nb][ni], double y[nb][no])
{
  int b, o, i;
  for (o = 0; o < no; o++) {
    bias[o] = (double)(o % 5 - 2) / 10.0;
    for (i = 0; i < ni; i++)
      W[o][i] = (double)((o * 7 + i * 3) % 13 - 6) / (6.0 * sqrt((double)ni));
  }
  for (b = 0; b < nb; b++) {
    for (i = 0; i < ni; i++)
      x[b][i] = (double)((b * 5 + i * 11) % 9 - 4) / 4.0;
    for (o = 0; o < no; o++)
      y[b][o] = 0.0;
  }
}

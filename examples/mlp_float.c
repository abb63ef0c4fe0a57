#include <math.h>
/* mlp_float: the mlp layer in single precision, as machine-learning code is
 * written: y[b][o] = tanhf(sum_i W[o][i]*x[b][i] + bias[o]), every array float,
 * the gradient computed in float (float adjoints and tapes).
 * inputs: W, bias, x   outputs: y
 * polyad-sizes: small nb=3 ni=7 no=5; medium nb=64 ni=512 no=256
 * polyad-init: init_mlp_float
 */
void mlp_float(int nb, int ni, int no, float W[no][ni], float bias[no],
               float x[nb][ni], float y[nb][no])
{
  int b, o, i;
#pragma scop
  for (b = 0; b < nb; b++)
    for (o = 0; o < no; o++) {
      y[b][o] = bias[o];
      for (i = 0; i < ni; i++)
        y[b][o] += W[o][i] * x[b][i];
      y[b][o] = tanhf(y[b][o]);
    }
#pragma endscop
}

/* As mlp's: weights of both signs scaled by 1/sqrt(ni) (Xavier), so that the
 * pre-activations stay of order one and tanhf does not saturate (there
 * 1 - tanhf^2, its derivative, keeps few of float's digits). */
void init_mlp_float(int nb, int ni, int no, float W[no][ni], float bias[no],
                    float x[nb][ni], float y[nb][no])
{
  int b, o, i;
  for (o = 0; o < no; o++) {
    bias[o] = (float)(o % 5 - 2) / 10.0f;
    for (i = 0; i < ni; i++)
      W[o][i] = (float)((o * 7 + i * 3) % 13 - 6) / (6.0f * sqrtf((float)ni));
  }
  for (b = 0; b < nb; b++) {
    for (i = 0; i < ni; i++)
      x[b][i] = (float)((b * 5 + i * 11) % 9 - 4) / 4.0f;
    for (o = 0; o < no; o++)
      y[b][o] = 0.0f;
  }
}

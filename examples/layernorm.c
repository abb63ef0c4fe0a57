#include <math.h>
/* layernorm: row-wise layer normalisation, Y = (X - mean) / sqrt(var + eps) * gamma + beta.
 * inputs: X, gamma, beta   outputs: Y
 * polyad-sizes: small n=4 d=9; medium n=512 d=768
 */
void layernorm(int n, int d, double X[n][d], double gamma[d], double beta[d],
               double Y[n][d])
{
  int i, j;
  double mean, var, inv;
  double eps = 1e-5;
#pragma scop
  for (i = 0; i < n; i++) {
    mean = 0.0;
    for (j = 0; j < d; j++)
      mean += X[i][j];
    mean = mean / (double)d;
    var = 0.0;
    for (j = 0; j < d; j++)
      var += (X[i][j] - mean) * (X[i][j] - mean);
    var = var / (double)d;
    inv = 1.0 / sqrt(var + eps);
    for (j = 0; j < d; j++)
      Y[i][j] = (X[i][j] - mean) * inv * gamma[j] + beta[j];
  }
#pragma endscop
}

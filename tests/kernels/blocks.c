/* Blocks of five (the assumptions of docs/kernel-language.md): the loop over
   i steps by 5 and writes y[i + 4], inside y only when n is a multiple of 5;
   s reads y up to m, inside when m <= n. Inputs w, x; outputs y, s. */
#include <math.h>

#pragma polyad assume n % 5 == 0 && n >= 5
void blocks(int n, int m, double w[5], double x[n], double y[n], double s[m]) {
  for (int i = 0; i < n; i += 5)
    for (int k = 0; k < 5; k++)
      y[i + k] = w[k] * sin(x[i + k]) + x[i + 4 - k] * x[i + k];
#pragma polyad assume m <= n
  for (int j = 0; j < m; j++)
    s[j] = y[j] * y[j];
}

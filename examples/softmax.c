#include <math.h>
/* softmax: row-wise numerically stable softmax, Y[i][j] = exp(X[i][j] - max_j X[i][j]) / sum_j exp(...).
 * inputs: X   outputs: Y
 * polyad-sizes: small n=4 m=7; medium n=500 m=1000
 */
void softmax(int n, int m, double X[n][m], double Y[n][m])
{
  int i, j;
  double sum;
  double rowmax[n];
#pragma scop
  for (i = 0; i < n; i++) {
    rowmax[i] = X[i][0];
    for (j = 1; j < m; j++)
      rowmax[i] = X[i][j] > rowmax[i] ? X[i][j] : rowmax[i];
    sum = 0.0;
    for (j = 0; j < m; j++) {
      Y[i][j] = exp(X[i][j] - rowmax[i]);
      sum += Y[i][j];
    }
    for (j = 0; j < m; j++)
      Y[i][j] /= sum;
  }
#pragma endscop
}

#include <math.h>
/* cholesky: in-place Cholesky factorisation A = L*L^T, L overwrites the lower triangle of A.
 * inputs: A   outputs: A
 * polyad-sizes: small n=10; medium n=400
 * polyad-init: init_cholesky
 */
void cholesky(int n, double A[n][n])
{
  int i, j, k;
  double sum;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      sum = A[i][j];
      for (k = 0; k < j; k++)
        sum -= A[i][k] * A[j][k];
      A[i][j] = sum / A[j][j];
    }
    sum = A[i][i];
    for (k = 0; k < i; k++)
      sum -= A[i][k] * A[i][k];
    A[i][i] = sqrt(sum);
  }
#pragma endscop
}

/* Symmetric, strictly diagonally dominant with positive diagonal, hence positive definite. */
void init_cholesky(int n, double A[n][n])
{
  int i, j;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      int d = i > j ? i - j : j - i;
      A[i][j] = 1.0 / (2.0 + d) / n;
    }
  for (i = 0; i < n; i++)
    A[i][i] = 1.0 + (double)(i % 4) / 4.0;
}

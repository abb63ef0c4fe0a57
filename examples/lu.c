/* lu: in-place LU factorisation without pivoting, A = L*U (L unit lower, stored below the diagonal).
 * inputs: A   outputs: A
 * polyad-sizes: small n=10; medium n=400
 * polyad-init: init_lu
 */
void lu(int n, double A[n][n])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      for (k = 0; k < j; k++)
        A[i][j] -= A[i][k] * A[k][j];
      A[i][j] /= A[j][j];
    }
    for (j = i; j < n; j++)
      for (k = 0; k < i; k++)
        A[i][j] -= A[i][k] * A[k][j];
  }
#pragma endscop
}

/* Strictly diagonally dominant matrix, so elimination needs no pivoting. */
void init_lu(int n, double A[n][n])
{
  int i, j;
  for (i = 0; i < n; i++) {
    for (j = 0; j < n; j++)
      A[i][j] = (double)((i * 5 + j * 3) % 13) / (13.0 * n);
    A[i][i] = 2.0 + (double)(i % 3) / 3.0;
  }
}

/* atax: y := A^T * (A * x), with A an m x n matrix.
 * inputs: A, x   outputs: y
 * polyad-sizes: small m=8 n=10; medium m=900 n=1000
 */
void atax(int m, int n, double A[m][n], double x[n], double y[n])
{
  int i, j;
  double tmp[m];
#pragma scop
  for (j = 0; j < n; j++)
    y[j] = 0.0;
  for (i = 0; i < m; i++) {
    tmp[i] = 0.0;
    for (j = 0; j < n; j++)
      tmp[i] += A[i][j] * x[j];
    for (j = 0; j < n; j++)
      y[j] += A[i][j] * tmp[i];
  }
#pragma endscop
}

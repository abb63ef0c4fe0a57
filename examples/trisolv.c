/* trisolv: solve L*x = b by forward substitution, L lower triangular (x built in place).
 * inputs: L, b   outputs: x
 * polyad-sizes: small n=10; medium n=2000
 * polyad-init: init_trisolv
 */
void trisolv(int n, double L[n][n], double x[n], double b[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    x[i] = b[i];
    for (j = 0; j < i; j++)
      x[i] -= L[i][j] * x[j];
    x[i] = x[i] / L[i][i];
  }
#pragma endscop
}

/* Lower triangle with a diagonal in [2, 3) and small off-diagonal entries. */
void init_trisolv(int n, double L[n][n], double x[n], double b[n])
{
  int i, j;
  for (i = 0; i < n; i++) {
    x[i] = 0.0;
    b[i] = 1.0 + (double)(i % 7) / 7.0;
    for (j = 0; j < n; j++)
      L[i][j] = (j < i) ? (double)((i + 3 * j) % 11 + 1) / (11.0 * n) : 0.0;
    L[i][i] = 2.0 + (double)(i % 5) / 5.0;
  }
}

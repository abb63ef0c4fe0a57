/* syrk: C := alpha*A*A^T + beta*C on the lower triangle of C (symmetric rank-k update).
 * inputs: alpha, beta, A, C   outputs: C
 * polyad-sizes: small n=8 m=10; medium n=240 m=200
 */
void syrk(int n, int m, double alpha, double beta, double C[n][n], double A[n][m])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j <= i; j++)
      C[i][j] *= beta;
    for (k = 0; k < m; k++)
      for (j = 0; j <= i; j++)
        C[i][j] += alpha * A[i][k] * A[j][k];
  }
#pragma endscop
}

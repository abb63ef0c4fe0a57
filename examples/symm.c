/* symm: C := alpha*A*B + beta*C with A symmetric, only its lower triangle read.
 * inputs: alpha, beta, A, B, C   outputs: C
 * polyad-sizes: small m=8 n=10; medium m=200 n=240
 */
void symm(int m, int n, double alpha, double beta, double C[m][n],
          double A[m][m], double B[m][n])
{
  int i, j, k;
  double acc;
#pragma scop
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      acc = 0.0;
      for (k = 0; k < i; k++) {
        C[k][j] += alpha * B[i][j] * A[i][k];
        acc += B[k][j] * A[i][k];
      }
      C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * acc;
    }
#pragma endscop
}

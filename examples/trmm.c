/* trmm: B := alpha*A^T*B with A unit lower triangular (triangular matrix multiply, B in place).
 * inputs: alpha, A, B   outputs: B
 * polyad-sizes: small m=8 n=10; medium m=200 n=240
 */
void trmm(int m, int n, double alpha, double A[m][m], double B[m][n])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      for (k = i + 1; k < m; k++)
        B[i][j] += A[k][i] * B[k][j];
      B[i][j] = alpha * B[i][j];
    }
#pragma endscop
}

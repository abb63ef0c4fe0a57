/* gemm: C := alpha*A*B + beta*C (general matrix multiply, C updated in place).
 * inputs: alpha, beta, A, B, C   outputs: C
 * polyad-sizes: small ni=8 nj=9 nk=10; medium ni=200 nj=220 nk=240
 */
void gemm(int ni, int nj, int nk, double alpha, double beta,
          double C[ni][nj], double A[ni][nk], double B[nk][nj])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < ni; i++) {
    for (j = 0; j < nj; j++)
      C[i][j] *= beta;
    for (k = 0; k < nk; k++)
      for (j = 0; j < nj; j++)
        C[i][j] += alpha * A[i][k] * B[k][j];
  }
#pragma endscop
}

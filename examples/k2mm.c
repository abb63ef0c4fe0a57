/* k2mm: D := alpha*A*B*C + beta*D (two chained matrix multiplies, "2mm").
 * inputs: alpha, beta, A, B, C, D   outputs: D
 * polyad-sizes: small ni=6 nj=7 nk=8 nl=9; medium ni=180 nj=190 nk=210 nl=220
 */
void k2mm(int ni, int nj, int nk, int nl, double alpha, double beta,
          double A[ni][nk], double B[nk][nj], double C[nj][nl], double D[ni][nl])
{
  int i, j, k;
  double tmp[ni][nj];
#pragma scop
  for (i = 0; i < ni; i++)
    for (j = 0; j < nj; j++) {
      tmp[i][j] = 0.0;
      for (k = 0; k < nk; k++)
        tmp[i][j] += alpha * A[i][k] * B[k][j];
    }
  for (i = 0; i < ni; i++)
    for (j = 0; j < nl; j++) {
      D[i][j] *= beta;
      for (k = 0; k < nj; k++)
        D[i][j] += tmp[i][k] * C[k][j];
    }
#pragma endscop
}

/* gesummv: y := alpha*A*x + beta*B*x (two matrix-vector products summed).
 * inputs: alpha, beta, A, B, x   outputs: y
 * polyad-sizes: small n=10; medium n=1000
 */
void gesummv(int n, double alpha, double beta, double A[n][n], double B[n][n],
             double x[n], double y[n])
{
  int i, j;
  double ax, bx;
#pragma scop
  for (i = 0; i < n; i++) {
    ax = 0.0;
    bx = 0.0;
    for (j = 0; j < n; j++) {
      ax += A[i][j] * x[j];
      bx += B[i][j] * x[j];
    }
    y[i] = alpha * ax + beta * bx;
  }
#pragma endscop
}

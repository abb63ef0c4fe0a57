/* spmv_ell: a sparse matrix-vector product y = A x, A in ELL format: every row
 * padded to nw stored entries, row i holding val[i][p] in column col[i][p]
 * (padding is an entry of value 0 in any column), y[i] = sum_p val[i][p] * x[col[i][p]].
 * The gradient of x is a scatter-add into the columns the rows read.
 * inputs: col (0 <= col < m), val, x   outputs: y
 * polyad-sizes: small n=5 m=4 nw=3; medium n=100000 m=100000 nw=16
 */
void spmv_ell(int n, int m, int nw, int col[n][nw], double val[n][nw], double x[m],
              double y[n])
{
  int i, p;
#pragma scop
  for (i = 0; i < n; i++) {
    y[i] = 0.0;
    for (p = 0; p < nw; p++)
      y[i] += val[i][p] * x[col[i][p]];
  }
#pragma endscop
}

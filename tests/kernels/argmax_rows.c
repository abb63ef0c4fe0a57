/* The largest element of each row of A, by a search per row whose index k
   is declared in the row's loop (an element of its own per row), and the
   row scaled by it: y[r] = A[r][k] * z[k]. Inputs A, z; output y. */
void argmax_rows(int n, int m, double A[n][m], double z[m], double y[n]) {
  for (int r = 0; r < n; r++) {
    int k = 0;
    for (int j = 1; j < m; j++)
      if (A[r][j] > A[r][k]) k = j;
    y[r] = A[r][k] * z[k];
  }
}

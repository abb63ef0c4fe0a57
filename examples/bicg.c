/* bicg: s := A^T * r and q := A * p (the two products of a BiCG step).
 * inputs: A, p, r   outputs: s, q
 * polyad-sizes: small m=8 n=10; medium m=900 n=1000
 */
void bicg(int m, int n, double A[n][m], double s[m], double q[n],
          double p[m], double r[n])
{
  int i, j;
#pragma scop
  for (j = 0; j < m; j++)
    s[j] = 0.0;
  for (i = 0; i < n; i++) {
    q[i] = 0.0;
    for (j = 0; j < m; j++) {
      s[j] = s[j] + r[i] * A[i][j];
      q[i] = q[i] + A[i][j] * p[j];
    }
  }
#pragma endscop
}

/* covariance: sample covariance matrix of n observations of m variables (data is centred in place).
 * inputs: data   outputs: cov
 * polyad-sizes: small m=8 n=10; medium m=240 n=260
 */
void covariance(int m, int n, double data[n][m], double cov[m][m])
{
  int i, j, k;
  double mean[m];
#pragma scop
  for (j = 0; j < m; j++) {
    mean[j] = 0.0;
    for (i = 0; i < n; i++)
      mean[j] += data[i][j];
    mean[j] /= (double)n;
  }
  for (i = 0; i < n; i++)
    for (j = 0; j < m; j++)
      data[i][j] -= mean[j];
  for (i = 0; i < m; i++)
    for (j = i; j < m; j++) {
      cov[i][j] = 0.0;
      for (k = 0; k < n; k++)
        cov[i][j] += data[k][i] * data[k][j];
      cov[i][j] /= ((double)n - 1.0);
      cov[j][i] = cov[i][j];
    }
#pragma endscop
}

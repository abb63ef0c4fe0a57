/* heat_3d: explicit 3-D heat equation (7-point stencil), alternating A -> B -> A each time step.
 * inputs: A, B   outputs: A, B
 * polyad-sizes: small tsteps=3 n=6; medium tsteps=100 n=40
 */
void heat_3d(int tsteps, int n, double A[n][n][n], double B[n][n][n])
{
  int t, i, j, k;
#pragma scop
  for (t = 1; t <= tsteps; t++) {
    for (i = 1; i <= n - 2; i++)
      for (j = 1; j <= n - 2; j++)
        for (k = 1; k <= n - 2; k++)
          B[i][j][k] = 0.125 * (A[i + 1][j][k] - 2.0 * A[i][j][k] + A[i - 1][j][k])
                     + 0.125 * (A[i][j + 1][k] - 2.0 * A[i][j][k] + A[i][j - 1][k])
                     + 0.125 * (A[i][j][k + 1] - 2.0 * A[i][j][k] + A[i][j][k - 1])
                     + A[i][j][k];
    for (i = 1; i <= n - 2; i++)
      for (j = 1; j <= n - 2; j++)
        for (k = 1; k <= n - 2; k++)
          A[i][j][k] = 0.125 * (B[i + 1][j][k] - 2.0 * B[i][j][k] + B[i - 1][j][k])
                     + 0.125 * (B[i][j + 1][k] - 2.0 * B[i][j][k] + B[i][j - 1][k])
                     + 0.125 * (B[i][j][k + 1] - 2.0 * B[i][j][k] + B[i][j][k - 1])
                     + B[i][j][k];
  }
#pragma endscop
}

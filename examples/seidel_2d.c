/* seidel_2d: in-place Gauss-Seidel sweeps of a 9-point averaging stencil.
 * inputs: A   outputs: A
 * polyad-sizes: small tsteps=3 n=8; medium tsteps=30 n=400
 */
void seidel_2d(int tsteps, int n, double A[n][n])
{
  int t, i, j;
#pragma scop
  for (t = 0; t <= tsteps - 1; t++)
    for (i = 1; i <= n - 2; i++)
      for (j = 1; j <= n - 2; j++)
        A[i][j] = (A[i - 1][j - 1] + A[i - 1][j] + A[i - 1][j + 1]
                 + A[i][j - 1] + A[i][j] + A[i][j + 1]
                 + A[i + 1][j - 1] + A[i + 1][j] + A[i + 1][j + 1]) / 9.0;
#pragma endscop
}

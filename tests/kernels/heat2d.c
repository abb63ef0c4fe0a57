/* heat2d: a user's 2-D heat stencil with two buffers and a scalar
 * coefficient (issue 12.3: its layers gradient indexed scratch buffers out
 * of bounds). inputs: r, u, v   outputs: u, v
 * polyad-sizes: small tsteps=2 n=10
 */
void heat2d(int tsteps, int n, double r, double u[n][n], double v[n][n])
{
  for (int t = 0; t < tsteps; t++) {
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        v[i][j] = u[i][j] + r * (u[i-1][j] + u[i+1][j] + u[i][j-1] + u[i][j+1] - 4.0 * u[i][j]);
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        u[i][j] = v[i][j] + r * (v[i-1][j] + v[i+1][j] + v[i][j-1] + v[i][j+1] - 4.0 * v[i][j]);
  }
}

/* wavefront: each element from its upper-right neighbour, so the loops
 * carry a dependence of distance (1, -1): interchanging them is illegal.
 * inputs: A   outputs: A
 * polyad-sizes: small n=6
 */
void wavefront(int n, double A[n][n])
{
  for (int i = 1; i < n; i++)
    for (int j = 0; j < n - 1; j++)
      A[i][j] = 0.5 * A[i - 1][j + 1] + A[i][j] * A[i][j];
}

/* floyd_warshall: all-pairs shortest path lengths (min-plus), updated in place;
 * the min is written as a select, as PolyBench writes it.
 * inputs: path   outputs: path
 * polyad-sizes: small n=8; medium n=500
 * polyad-init: init_floyd_warshall
 */
void floyd_warshall(int n, double path[n][n])
{
  int i, j, k;
#pragma scop
  for (k = 0; k < n; k++)
    for (i = 0; i < n; i++)
      for (j = 0; j < n; j++)
        path[i][j] = path[i][j] < path[i][k] + path[k][j] ?
                     path[i][j] : path[i][k] + path[k][j];
#pragma endscop
}

/* Edge lengths from 1 to 10 spread by a golden-ratio-like step (617/1000),
 * so that at the small size no two competing paths come within 0.16 of each
 * other: finite differences never cross a tie. */
void init_floyd_warshall(int n, double path[n][n])
{
  int i, j;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      path[i][j] = 1.0 + 9.0 * (double)((i * n + j) * 617 % 1000) / 1000.0;
}

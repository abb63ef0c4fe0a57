/* fdtd_2d: 2-D finite-difference time-domain (Yee) update of ex, ey, hz, driven by a source fict[t].
 * inputs: ex, ey, hz, fict   outputs: ex, ey, hz
 * polyad-sizes: small tmax=3 nx=8 ny=9; medium tmax=100 nx=200 ny=240
 */
void fdtd_2d(int tmax, int nx, int ny, double ex[nx][ny], double ey[nx][ny],
             double hz[nx][ny], double fict[tmax])
{
  int t, i, j;
#pragma scop
  for (t = 0; t < tmax; t++) {
    for (j = 0; j < ny; j++)
      ey[0][j] = fict[t];
    for (i = 1; i < nx; i++)
      for (j = 0; j < ny; j++)
        ey[i][j] = ey[i][j] - 0.5 * (hz[i][j] - hz[i - 1][j]);
    for (i = 0; i < nx; i++)
      for (j = 1; j < ny; j++)
        ex[i][j] = ex[i][j] - 0.5 * (hz[i][j] - hz[i][j - 1]);
    for (i = 0; i < nx - 1; i++)
      for (j = 0; j < ny - 1; j++)
        hz[i][j] = hz[i][j] - 0.7 * (ex[i][j + 1] - ex[i][j] + ey[i + 1][j] - ey[i][j]);
  }
#pragma endscop
}

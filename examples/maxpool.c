/* maxpool: 2x2 max pooling with stride 2 over nc channels, the maximum found with an if,
 * out[c][i][j] = max over di, dj in {0, 1} of in[c][2i+di][2j+dj].
 * inputs: in   outputs: out
 * polyad-sizes: small nc=2 h=3 w=4; medium nc=64 h=128 w=128
 * polyad-init: init_maxpool
 */
void maxpool(int nc, int h, int w, double in[nc][2 * h][2 * w], double out[nc][h][w])
{
  int c, i, j, di, dj;
  double m;
#pragma scop
  for (c = 0; c < nc; c++)
    for (i = 0; i < h; i++)
      for (j = 0; j < w; j++) {
        m = in[c][2 * i][2 * j];
        for (di = 0; di < 2; di++)
          for (dj = 0; dj < 2; dj++)
            if (in[c][2 * i + di][2 * j + dj] > m)
              m = in[c][2 * i + di][2 * j + dj];
        out[c][i][j] = m;
      }
#pragma endscop
}

/* The four values of every window at least 0.25 apart: the maximum is never
 * a near tie, where finite differences would straddle two branches. */
void init_maxpool(int nc, int h, int w, double in[nc][2 * h][2 * w], double out[nc][h][w])
{
  int c, y, x;
  for (c = 0; c < nc; c++)
    for (y = 0; y < 2 * h; y++)
      for (x = 0; x < 2 * w; x++)
        in[c][y][x] = (double)((c * 7 + y * 5 + x * 3) % 17 - 8) / 4.0;
}

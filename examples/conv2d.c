/* conv2d: multi-channel 2-D convolution (cross-correlation), valid padding, plus per-channel bias: out[co][y][x] = sum_{ci,ky,kx} W[co][ci][ky][kx] * in[ci][y+ky][x+kx] + bias[co].
 * inputs: W, bias, in   outputs: out
 * polyad-sizes: small nci=2 nco=3 h=7 w=8 kh=3 kw=2; medium nci=16 nco=32 h=64 w=60 kh=3 kw=5
 */
void conv2d(int nci, int nco, int h, int w, int kh, int kw,
            double W[nco][nci][kh][kw], double bias[nco],
            double in[nci][h][w], double out[nco][h - kh + 1][w - kw + 1])
{
#pragma scop
  for (int co = 0; co < nco; co++)
    for (int y = 0; y <= h - kh; y++)
      for (int x = 0; x <= w - kw; x++) {
        out[co][y][x] = bias[co];
        for (int ci = 0; ci < nci; ci++)
          for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++)
              out[co][y][x] += W[co][ci][ky][kx] * in[ci][y + ky][x + kx];
      }
#pragma endscop
}

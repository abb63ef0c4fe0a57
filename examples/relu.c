/* relu: one dense layer with ReLU activation over a batch, written with an if,
 * y[b][o] = max(0, sum_i W[o][i]*x[b][i] + bias[o]).
 * inputs: W, bias, x   outputs: y
 * polyad-sizes: small nb=3 ni=7 no=5; medium nb=64 ni=512 no=256
 */
void relu(int nb, int ni, int no, double W[no][ni], double bias[no],
          double x[nb][ni], double y[nb][no])
{
  int b, o, i;
#pragma scop
  for (b = 0; b < nb; b++)
    for (o = 0; o < no; o++) {
      y[b][o] = bias[o];
      for (i = 0; i < ni; i++)
        y[b][o] += W[o][i] * x[b][i];
      if (y[b][o] < 0.0)
        y[b][o] = 0.0;
    }
#pragma endscop
}

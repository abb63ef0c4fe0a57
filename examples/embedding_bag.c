/* embedding_bag: an embedding bag in sum mode with per-sample weights, as in a
 * recommender's sparse features: bag b sums nl rows of the table E, the rows
 * idx[b][l], each scaled by its weight, out[b][j] = sum_l w[b][l] * E[idx[b][l]][j].
 * The gradient of E is a scatter-add into the rows the bags read.
 * inputs: idx (rows of E, 0 <= idx < nv), w, E   outputs: out
 * polyad-sizes: small nb=3 nl=4 nv=5 nd=3; medium nb=2048 nl=32 nv=10000 nd=64
 */
void embedding_bag(int nb, int nl, int nv, int nd, int idx[nb][nl], double w[nb][nl],
                   double E[nv][nd], double out[nb][nd])
{
  int b, l, j;
#pragma scop
  for (b = 0; b < nb; b++) {
    for (j = 0; j < nd; j++)
      out[b][j] = 0.0;
    for (l = 0; l < nl; l++)
      for (j = 0; j < nd; j++)
        out[b][j] += w[b][l] * E[idx[b][l]][j];
  }
#pragma endscop
}

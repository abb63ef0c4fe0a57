/* make fuzz (16 shards, shard 1): binomial checkpointing with 3 slots at n = 5: the snapshot of
 * k_b_loop0 (state from the second step on) had 2 slots where revolve used 3. */
#include <math.h>
double S0(int n, double _stream0, double A[n], double k_b_loop0[n], double _acc1[n][n], double _written[n][n])
{
  double s = 0.0;
#pragma scop
  for (int c4 = 1; c4 < n - 1; c4++) {
    { int q = c4 - 1; k_b_loop0[q + 1] = fmax(((k_b_loop0[c4 - 1] * 1.25) > _stream0 ? (k_b_loop0[c4 - 1] * 1.25) : _stream0), 3); }
    s = sin(fmax(fmax(s, A[c4]), _written[c4][c4 + 1]));
  }
  for (int c4 = n - 2; c4 >= 1; c4--) {
    for (int _pop0 = c4 + 1; _pop0 < n - 1; _pop0++) {
      { int q = _pop0 - 1; k_b_loop0[q + 1] = exp(0.25 * s); }
    }
  }
  for (int c4 = 1; c4 < n - 1; c4++) {
    s = _stream0;
    s += (((s > A[c4] ? s : A[c4]) > k_b_loop0[c4 + 1] ? (s > A[c4] ? s : A[c4]) : k_b_loop0[c4 + 1]) * (_written[c4][c4] * s));
    k_b_loop0[c4 + 1] = (((s) / (1.5 + _written[c4 + 1][c4] * _written[c4 + 1][c4]) > _stream0 ? (s) / (1.5 + _written[c4 + 1][c4] * _written[c4 + 1][c4]) : _stream0) > (2.0 * (0.5 * s)) ? ((s) / (1.5 + _written[c4 + 1][c4] * _written[c4 + 1][c4]) > _stream0 ? (s) / (1.5 + _written[c4 + 1][c4] * _written[c4 + 1][c4]) : _stream0) : (2.0 * (0.5 * s)));
  }
  for (int c4 = 1; c4 < n - 1; c4++) {
    double *p = &k_b_loop0[1];
    k_b_loop0[c4] = p[c4 - 1] * fmin((A[c4 + 1] * k_b_loop0[c4]), s);
  }
#pragma endscop
  return ((pow(A[0], 2.0) > k_b_loop0[0] ? pow(A[0], 2.0) : k_b_loop0[0]) > s ? (pow(A[0], 2.0) > k_b_loop0[0] ? pow(A[0], 2.0) : k_b_loop0[0]) : s);
}

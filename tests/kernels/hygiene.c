/* hygiene: a kernel whose own identifiers are the names polyad generates
 * (isl loop iterators c0 c1 c2, tape buffers and their counters, register
 * accumulators, popped and pushed values, common-subexpression locals, the
 * adjoint seed, the min/max/floord/polyad_threads macros and their guard,
 * trace function polyad_trace, outlined parallel loops f_loop0 and f_b_loop0,
 * derivative names x_b and
 * x_d, the interpreter's read0). Any of them captured by generated code gives
 * a wrong primal or gradient, or C that does not compile.
 * inputs: c1, c2, x, x_b, x_d, min, floord, polyad_threads, polyad_trace, f_loop0,
 *         tape_S0_0, stream_S4
 *         outputs: max, polyad_helpers, f_b_loop0, stack_S3_top, out
 * polyad-sizes: small n=7
 */
#include <math.h>

void f(int n, double c1, double c2, double x[n], double x_b[n], double x_d[n],
       double min[n], double max[n], double floord[n][n], double polyad_threads[n],
       double polyad_helpers[n], double polyad_trace[n], double f_loop0[n], double f_b_loop0[n],
       double tape_S0_0[n], double stream_S4[n], double stack_S3_top[n][n], double out[n])
{
  double c0, _g, _t0, _acc0, _pop0, _push0, _tape0, _written, _on_entry, read0;
#pragma scop
  for (int i = 0; i < n; i++) {
    /* a loop nest three deep inside which the kernel's c0, c1, c2 are read */
    for (int j = 0; j < n; j++)
      for (int k = 0; k < n; k++)
        stack_S3_top[i][j] += c1 * floord[i][k] * floord[k][j] + c2 * x[k];
    c0 = sin(x[i]) * c1;
    _g = c0 * x_b[i] + c2;
    _t0 = _g * _g + x_d[i];
    max[i] = _t0 * c0 + sin(_g) * cos(_g);
  }
  for (int i = 0; i < n; i++) {
    _acc0 = 0.0;
    for (int j = 0; j < n; j++)
      _acc0 += floord[i][j] * min[j] * polyad_threads[j];
    polyad_helpers[i] = _acc0 * _acc0;
    _pop0 = tanh(_acc0) + f_loop0[i] * polyad_trace[i];
    _push0 = _pop0 * _pop0 * tape_S0_0[i];
    f_b_loop0[i] = _push0 * c2 + exp(0.25 * _pop0);
  }
  for (int i = 1; i < n; i++) {
    /* in-place updates whose old values the reverse sweep needs */
    x[i] = sin(x[i - 1]) * x[i] + stream_S4[i];
    stream_S4[i] = stream_S4[i] * x[i] + c1;
  }
  for (int i = 0; i < n; i++) {
    _tape0 = x[i] * stream_S4[i];
    _written = _tape0 * _tape0 + c1;
    _on_entry = _written * min[i];
    read0 = _on_entry * _tape0;
    for (int j = 0; j < n; j++)
      out[j] += read0 * stack_S3_top[i][j] + max[j] * c2;
  }
#pragma endscop
}

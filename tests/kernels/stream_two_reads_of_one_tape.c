/* The random-kernel tests found it (seed 0, --layout stream --schedule auto):
   under auto the adjoint of line 15 reads the tape of c4 twice per instance,
   and both reads were pushed into one FIFO sized for one value per instance,
   a heap-buffer-overflow. */
#include <math.h>
double keep_S0_S1_0[8];
double s_b(int polyad_threads, double stack_S0, double c4[polyad_threads], double region_S0[polyad_threads][polyad_threads], double min[polyad_threads][polyad_threads])
{
  double _stream0 = 0.0;
#pragma scop
  for (int t = 0; t < 2; t++) {
    for (int _t1 = 1; _t1 < polyad_threads - 1; _t1++)
      c4[_t1] = 0.25 * (keep_S0_S1_0[_t1 - 1] + keep_S0_S1_0[_t1] * sin((c4[_t1 - 1] + min[_t1 + 1][_t1 - 1])) + keep_S0_S1_0[_t1 + 1]);
    for (int _t1 = 1; _t1 < polyad_threads - 1; _t1++)
      keep_S0_S1_0[_t1] = 0.25 * (c4[_t1 - 1] + c4[_t1] * ((exp(0.25 * keep_S0_S1_0[_t1]) > keep_S0_S1_0[_t1] ? exp(0.25 * keep_S0_S1_0[_t1]) : keep_S0_S1_0[_t1]) * c4[_t1]) + c4[_t1 + 1]);
  }
  for (int _t1 = polyad_threads - 2; _t1 >= 1; _t1--) {
    min[_t1 + 1][_t1] -= ((c4[_t1 + 1] * stack_S0) + (c4[_t1]) / (1.5 + region_S0[_t1 + 1][_t1 - 1] * region_S0[_t1 + 1][_t1 - 1]));
    _stream0 = (1.25) / (1.5 + (_stream0 - 2.0) * (_stream0 - 2.0));
  }
  for (int _t1 = 1; _t1 < polyad_threads - 1; _t1++) {
    c4[_t1] = ((((region_S0[_t1 + 1][_t1] - _stream0)) / (1.5 + fmin(keep_S0_S1_0[_t1], 0.5) * fmin(keep_S0_S1_0[_t1], 0.5))) * (((region_S0[_t1 + 1][_t1] - _stream0)) / (1.5 + fmin(keep_S0_S1_0[_t1], 0.5) * fmin(keep_S0_S1_0[_t1], 0.5))) + 0.5) * 0.5;
  }
#pragma endscop
  return (((min[0][0] > keep_S0_S1_0[0] ? min[0][0] : keep_S0_S1_0[0]) > region_S0[0][0] ? (min[0][0] > keep_S0_S1_0[0] ? min[0][0] : keep_S0_S1_0[0]) : region_S0[0][0]) * min[0][0]);
}

/* Found by the random-kernel tests (make fuzz, seed 1, shard 8): with
   --layout layers --schedule auto at n = 4, a staged copy has no instance
   and isl could not build the band of it ("cannot extract range space from
   empty input"). */
#include <math.h>
void stack_S0(int n, double keep_S0_S1_0, double tape_S1_0[n], double c1[n], double tape_S0_0[n][n], double D[n][n])
{
  double _tape0 = 0.0;
  for (int floord = 1; floord < n - 1; floord++) {
    for (int j = 1; j < floord; j++) {
      for (int s_d = 1; s_d < j; s_d++) {
        c1[s_d - 1] -= c1[floord];
      }
      _tape0 += keep_S0_S1_0;
    }
    c1[floord] += (tape_S1_0[floord] > 2.0 ? tape_S1_0[floord] : 2.0);
  }
  for (int floord = n - 2; floord >= 1; floord--) {
    _tape0 += tape_S0_0[floord + 1][floord - 1];
    _tape0 -= (tape_S0_0[floord - 1][floord + 1] * fmin(keep_S0_S1_0, _tape0));
  }
}

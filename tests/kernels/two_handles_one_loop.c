/* Found by make fuzz (seed 2, shard 4): with --schedule auto two handles named one
   loop and each marked it simd: two 'omp simd' pragmas, which GCC rejects. */
#include <math.h>
void c3(int n, double _written, double A[n], double keep_S0_S1_0[n], double C[n][n], double D[n][n])
{
  double s = 0.0;
#pragma scop
  for (int i = 1; i < n - 1; i++) {
    C[i - 1][i] -= 2.0;
  }
  for (int i = 1; i < n - 1; i++) {
    D[i - 1][i] = keep_S0_S1_0[i + 1] = (D[i][i] > keep_S0_S1_0[i] ? D[i][i] : keep_S0_S1_0[i]);
  }
  for (int _t1 = 0; _t1 < 2; _t1++) {
    for (int i = 1; i < n - 1; i++)
      keep_S0_S1_0[i] = 0.25 * (A[i - 1] + A[i] * fabs(log(1.25 * 1.25 + 1.0)) + A[i + 1]);
    for (int i = 1; i < n - 1; i++)
      A[i] = 0.25 * (keep_S0_S1_0[i - 1] + keep_S0_S1_0[i] * 3 + keep_S0_S1_0[i + 1]);
  }
#pragma endscop
}

/* Found by make fuzz (seed 2, shard 7): sympy's derivative of
   fabs(... + pow(x, 2.0)) holds re(x ** 2.0), which the interpreter oracle
   could not evaluate (NameError: re). */
#include <math.h>
void k(int n, double A[n], double C[n][n], double D[n][n])
{
  for (int i = n - 2; i >= 1; i--) {
    D[i][i - 1] = C[i][i] = sqrt(fabs((sqrt(C[i][i + 1] * C[i][i + 1] + 1.0) + pow(C[i + 1][i + 1], 2.0))) + 1.0);
  }
}

/* durbin: Levinson-Durbin recursion, solves the Toeplitz system T*y = -r (T has unit diagonal, off-diagonals r).
 * inputs: r   outputs: y
 * polyad-sizes: small n=10; medium n=2000
 * polyad-init: init_durbin
 */
void durbin(int n, double r[n], double y[n])
{
  int i, k;
  double alpha, beta, sum;
  double z[n];
#pragma scop
  y[0] = -r[0];
  beta = 1.0;
  alpha = -r[0];
  for (k = 1; k < n; k++) {
    beta = (1.0 - alpha * alpha) * beta;
    sum = 0.0;
    for (i = 0; i < k; i++)
      sum += r[k - i - 1] * y[i];
    alpha = -(r[k] + sum) / beta;
    for (i = 0; i < k; i++)
      z[i] = y[i] + alpha * y[k - i - 1];
    for (i = 0; i < k; i++)
      y[i] = z[i];
    y[k] = alpha;
  }
#pragma endscop
}

/* Autocorrelation of a mixture of two AR(1) processes: the Toeplitz matrix is
 * positive definite, so every reflection coefficient satisfies |alpha| < 1.
 * The decays (0.9, -0.8) keep r above the subnormal range at n = 2000: with
 * 0.6 and -0.5, r[k] was subnormal beyond k = 1390, and every variant's time,
 * the original C's too, went to the processor's slow path for subnormals. */
void init_durbin(int n, double r[n], double y[n])
{
  int k;
  double a = 0.9, b = -0.8, pa = 1.0, pb = 1.0;
  for (k = 0; k < n; k++) {
    pa *= a;
    pb *= b;
    r[k] = 0.7 * pa + 0.3 * pb;
    y[k] = 0.0;
  }
}

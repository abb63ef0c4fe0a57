/* make fuzz (seed 12, the checkpoint layout) found it: the reverse of line 8
   splits off its last step (its tape differs there), whose step dimension is
   a constant; the checkpoint layout took that piece for one outside the time
   loop and ran it before the reruns (a wrong gradient, rel. err 0.09). */
void k(int n, double A[n], double B[n])
{
#pragma scop
  for (int t = 0; t < 2; t++) {
    for (int i = 1; i < n - 1; i++)
      B[i] = 0.25 * (A[i - 1] + A[i] * A[i - 1] + A[i + 1]);
    for (int i = 1; i < n - 1; i++)
      A[i] = 0.25 * (B[i - 1] + B[i] * A[i - 1] + B[i + 1]);
  }
#pragma endscop
}

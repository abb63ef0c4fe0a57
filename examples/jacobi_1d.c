/* jacobi_1d: 1-D three-point Jacobi smoothing, alternating A -> B -> A each time step.
 * inputs: A, B   outputs: A, B
 * polyad-sizes: small tsteps=3 n=12; medium tsteps=200 n=4000
 */
#define THIRD 0.33333

void jacobi_1d(int tsteps, int n, double A[n], double B[n])
{
  int t, i;
#pragma scop
  for (t = 0; t < tsteps; t++) {
    for (i = 1; i < n - 1; i++)
      B[i] = THIRD * (A[i - 1] + A[i] + A[i + 1]);
    for (i = 1; i < n - 1; i++)
      A[i] = THIRD * (B[i - 1] + B[i] + B[i + 1]);
  }
#pragma endscop
}

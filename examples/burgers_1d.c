/* burgers_1d: viscous Burgers' equation u_t + u u_x = nu u_xx in 1-D, explicit
 * Euler with first-order upwind advection (for u > 0) and central diffusion,
 * two buffers: each step computes v from u, then copies v back into u. The
 * ends u[0] and u[n-1] are fixed (Dirichlet). The step DT and the grid
 * spacing DX keep it stable for u and nu of order one (DT/DX * u <= 0.5,
 * nu * DT/DX^2 <= 0.25).
 * inputs: nu, u   outputs: u, v
 * polyad-sizes: small tsteps=4 n=12; medium tsteps=500 n=2000; large tsteps=2000 n=7000
 */
#define DT 0.001
#define DX 0.1

void burgers_1d(int tsteps, int n, double nu, double u[n], double v[n])
{
#pragma scop
  for (int t = 0; t < tsteps; t++) {
    for (int i = 1; i < n - 1; i++)
      v[i] = u[i] - DT / DX * u[i] * (u[i] - u[i - 1])
             + nu * DT / (DX * DX) * (u[i + 1] - 2.0 * u[i] + u[i - 1]);
    for (int i = 1; i < n - 1; i++)
      u[i] = v[i];
  }
#pragma endscop
}

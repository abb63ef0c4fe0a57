/* reaction_diffusion_2d: the Fisher-KPP equation u_t = D laplacian(u) + u (1 - u)
 * on a square grid, explicit Euler with the five-point Laplacian (unit grid
 * spacing) and two buffers: each step computes v from u, then copies v back
 * into u; the boundary is fixed. The step DT keeps it stable for a
 * diffusion coefficient D of order one (4 * DT * D < 1).
 * inputs: D, u   outputs: u, v
 * polyad-sizes: small tsteps=3 n=8; medium tsteps=50 n=120; large tsteps=200 n=300
 */
#define DT 0.05

void reaction_diffusion_2d(int tsteps, int n, double D, double u[n][n], double v[n][n])
{
#pragma scop
  for (int t = 0; t < tsteps; t++) {
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        v[i][j] = u[i][j] + DT * (D * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1]
                                       - 4.0 * u[i][j])
                                  + u[i][j] * (1.0 - u[i][j]));
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        u[i][j] = v[i][j];
  }
#pragma endscop
}

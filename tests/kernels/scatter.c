/* scatter: a permutation scatter y[perm[i]] = a[i] * x[i] and a histogram
 * h[bucket[i]] += w[i] * x[i] * x[i] of n values into m >= n buckets, each hit
 * once: writes through index arrays the pragma states injective.
 * inputs: perm (a permutation of 0 .. n - 1), bucket (distinct, < m), a, w, x
 * outputs: y, h
 * polyad-sizes: small n=6 m=9
 */
#pragma polyad injective(perm, bucket)
void scatter(int n, int m, int perm[n], int bucket[n], double a[n], double w[n],
             double x[n], double y[n], double h[m])
{
  for (int i = 0; i < n; i++)
    y[perm[i]] = a[i] * x[i];
  for (int j = 0; j < m; j++)
    h[j] = 0.0;
  for (int i = 0; i < n; i++)
    h[bucket[i]] += w[i] * x[i] * x[i];
}

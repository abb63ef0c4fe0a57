/* BLAS-1 with strides, fixed when the file is parsed (-D incx=2 -D incy=3):
   y = a x + y over every incx-th element of x and incy-th of y, then
   dot = n * sum x y, through a loop stepping by incx and an index iy
   stepping by incy. Inputs a, x, y; outputs y, dot. */
void blas1(int n, int incx, int incy, double a, double x[1 + (n - 1) * incx],
           double y[1 + (n - 1) * incy], double *dot) {
  for (int i = 0; i < n; i++)
    y[i * incy] += a * x[i * incx];
  *dot = 0.0;
  int iy = 0;
  for (int ix = 0; ix < n * incx; ix += incx) {
    *dot += x[ix] * y[iy] * (double) n;
    iy += incy;
  }
}

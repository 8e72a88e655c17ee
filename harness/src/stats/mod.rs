//! Pure statistics: no I/O, tested against published values.

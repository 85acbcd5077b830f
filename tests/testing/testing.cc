// Intentionally empty: keeps segments_testing a real library.
namespace segments::testing {}

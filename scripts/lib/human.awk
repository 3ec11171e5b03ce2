# human(x): a rate with a k / M / G suffix, for the bench scripts' Markdown tables.
function human(x) {
  if (x >= 1e9) return sprintf("%.2f G", x / 1e9)
  if (x >= 1e6) return sprintf("%.2f M", x / 1e6)
  if (x >= 1e3) return sprintf("%.2f k", x / 1e3)
  return sprintf("%.1f", x)
}

"""The baselines a recurrent model must beat: ``linear`` (TF-IDF / bag-of-words n-grams
with logistic regression, linear SVM or naive Bayes) and ``transformer`` (MiniLM)."""

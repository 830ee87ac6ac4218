"""English contractions and their expansions, written for seqlab.

``FORMAL`` covers the apostrophe forms; ``INFORMAL`` the apostrophe-free spellings
common in tweets and in the emotion corpus ("didnt", "im"). Words that are also
ordinary words ("ill", "wed", "well", "were", "its", "id", "hell", "shell") are left out
on purpose.
"""

FORMAL = {
    "won't": "will not",
    "can't": "can not",
    "cannot": "can not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "there's": "there is",
    "here's": "here is",
    "he's": "he is",
    "she's": "she is",
    "who's": "who is",
    "where's": "where is",
    "how's": "how is",
    "y'all": "you all",
}

SUFFIXES = {
    "n't": " not",
    "'re": " are",
    "'m": " am",
    "'ll": " will",
    "'ve": " have",
    "'d": " would",
}

INFORMAL = {
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "didnt": "did not",
    "doesnt": "does not",
    "isnt": "is not",
    "wasnt": "was not",
    "werent": "were not",
    "arent": "are not",
    "cant": "can not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "mustnt": "must not",
    "neednt": "need not",
    "youre": "you are",
    "youve": "you have",
    "youll": "you will",
    "theyre": "they are",
    "theyve": "they have",
    "theyll": "they will",
    "weve": "we have",
    "thats": "that is",
    "whats": "what is",
    "theres": "there is",
    "itll": "it will",
    "ill've": "i will have",
}

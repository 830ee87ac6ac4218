"""Writes the synthetic search-query sample that ships with seqlab (deterministic):

    python scripts/make_search_queries.py > src/seqlab/samples/search_queries.txt
"""
import random

rng = random.Random(7)
cities = [("san francisco", 30), ("san diego", 18), ("san jose", 12), ("santa barbara", 6),
          ("san antonio", 9), ("new york", 34), ("new orleans", 10), ("newark", 4),
          ("los angeles", 26), ("las vegas", 15), ("london", 22), ("lisbon", 6), ("paris", 20),
          ("berlin", 12), ("boston", 14), ("seattle", 13), ("chicago", 16), ("denver", 8),
          ("dallas", 9), ("miami", 12), ("madrid", 8), ("munich", 5), ("tokyo", 11),
          ("toronto", 9), ("sydney", 8)]
city_topics = [("weather", 30), ("weather tomorrow", 8), ("hotels", 12), ("restaurants", 10),
               ("things to do", 9), ("airport", 6), ("time", 5), ("map", 4), ("events", 4),
               ("zip code", 3), ("news", 5), ("population", 2)]
prefixed = [("flights to", 10), ("cheap flights to", 4), ("hotels in", 6), ("weather in", 5),
            ("things to do in", 4), ("restaurants in", 3), ("train to", 2)]
howto = ["how to tie a tie", "how to boil an egg", "how to make pancakes", "how to make bread",
         "how to make coffee", "how to lose weight", "how to screenshot on mac",
         "how to screenshot on windows", "how to reset iphone", "how to cook rice",
         "how to write a cover letter", "how to change a tire", "how to learn python",
         "how to draw a cat", "how to meditate", "how to sleep better"]
near = ["coffee near me", "pizza near me", "pharmacy near me", "gas station near me",
        "restaurants near me", "gym near me", "atm near me", "grocery store near me",
        "hair salon near me", "thai food near me"]
misc = ["python list comprehension", "python dictionary", "python read csv",
        "python string format", "pandas merge", "pandas groupby", "pytorch lstm",
        "pytorch dataloader", "recurrent neural network", "long short term memory",
        "gated recurrent unit", "word embeddings", "what is the time", "what is my ip",
        "what is love", "what is a recession", "best pizza dough recipe",
        "banana bread recipe", "chocolate chip cookies recipe", "lasagna recipe",
        "translate english to spanish", "translate english to french", "currency converter",
        "calculator", "timer 5 minutes", "timer 10 minutes", "world cup schedule",
        "stock market today", "full moon", "sunrise time", "speed test"]


def pick(pairs):
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


queries = []
for _ in range(900):
    queries.append(f"{pick(cities)} {pick(city_topics)}")
for _ in range(260):
    queries.append(f"{pick(prefixed)} {pick(cities)}")
for _ in range(160):
    queries.append(rng.choice(howto))
for _ in range(120):
    queries.append(rng.choice(near))
for _ in range(160):
    queries.append(rng.choice(misc))
rng.shuffle(queries)
print("\n".join(queries))

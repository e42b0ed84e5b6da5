"""How fast are the ways of fetching clips: YouTube sections against whole sources, CVDF shards on a mirror?"""

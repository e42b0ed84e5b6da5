"""Where does a training or inference step's GPU time go, and what makes it shorter?"""

import CarinaNN
print("carina")
